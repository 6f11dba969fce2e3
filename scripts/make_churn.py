#!/usr/bin/python3
"""A churn-like binary data set with mostly categorical columns, drawn from a known model (issue 17's third target).

Every customer's churn is Bernoulli(sigmoid(logit)), the logit a fixed sum of category effects (contract, internet,
payment method, plan, channel, age group, referral; 40 states, 240 cities nested in them, 60 device models and 150
promotion codes with random effects and Zipf-like frequencies, so many categories are rare), an interaction
(month-to-month contracts on fiber), and non-linear numbers (tenure, support calls, monthly charges). Text columns stay
at or below 255 categories so scikit-learn's HistGradientBoosting can take them as native categories. Seeded: the same
arguments give the same file. Needs only Debian's python3-numpy:

    /usr/bin/python3 scripts/make_churn.py --rows 20000 --seed 17 --out churn.csv
"""
import argparse
import csv

import numpy as np


def zipf_probabilities(count, exponent, rng):
    weights = 1.0 / np.arange(1, count + 1) ** exponent
    rng.shuffle(weights)
    return weights / weights.sum()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.rows

    # The model's fixed parts (drawn first, so they do not depend on the number of rows).
    states = [f"S{i:02d}" for i in range(40)]
    state_effect = rng.normal(0, 0.2, len(states))
    cities = [f"city-{i:03d}" for i in range(240)]
    city_state = rng.integers(0, len(states), len(cities))
    city_effect = rng.normal(0, 0.5, len(cities))
    city_p = zipf_probabilities(len(cities), 0.9, rng)
    devices = [f"device-{i:02d}" for i in range(60)]
    device_effect = rng.normal(0, 0.35, len(devices))
    device_p = zipf_probabilities(len(devices), 1.0, rng)
    promos = [f"P{i:03d}" for i in range(150)]
    promo_effect = rng.normal(0, 0.4, len(promos))
    promo_p = zipf_probabilities(len(promos), 0.8, rng)

    contracts = np.array(["month-to-month", "one-year", "two-year"])
    contract_effect = np.array([0.9, 0.0, -0.9])
    internets = np.array(["dsl", "fiber", "none"])
    internet_effect = np.array([0.0, 0.4, -0.5])
    payments = np.array(["electronic-check", "mailed-check", "bank-transfer", "credit-card"])
    payment_effect = np.array([0.4, 0.1, -0.2, -0.25])
    plans = np.array(["basic", "standard", "plus", "premium", "family"])
    plan_effect = np.array([0.2, 0.0, -0.1, -0.3, -0.2])
    plan_price = np.array([35.0, 55.0, 70.0, 95.0, 85.0])
    channels = np.array(["web", "store", "phone", "partner", "reseller", "app"])
    channel_effect = np.array([0.1, -0.2, 0.0, 0.15, 0.3, -0.1])
    ages = np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"])
    age_effect = np.array([0.35, 0.1, -0.1, -0.15, 0.0, 0.2])

    city = rng.choice(len(cities), n, p=city_p)
    state = city_state[city]
    device = rng.choice(len(devices), n, p=device_p)
    has_promo = rng.random(n) < 0.4
    promo = rng.choice(len(promos), n, p=promo_p)
    contract = rng.choice(3, n, p=[0.55, 0.25, 0.20])
    internet = rng.choice(3, n, p=[0.35, 0.45, 0.20])
    payment = rng.choice(4, n, p=[0.33, 0.22, 0.23, 0.22])
    plan = rng.choice(5, n, p=[0.25, 0.3, 0.2, 0.1, 0.15])
    channel = rng.choice(6, n, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.15])
    age = rng.choice(6, n, p=[0.12, 0.22, 0.22, 0.18, 0.14, 0.12])
    referral = rng.random(n) < 0.25
    tenure = np.clip(np.round(rng.gamma(1.6, 14.0, n)), 1, 72).astype(int)
    support_calls = rng.poisson(1.4, n)
    monthly = np.round(plan_price[plan] + 15.0 * (internet == 1) + rng.normal(0, 8.0, n), 2)

    logit = (-1.1
             + contract_effect[contract] + internet_effect[internet] + payment_effect[payment] + plan_effect[plan]
             + channel_effect[channel] + age_effect[age] - 0.3 * referral
             + state_effect[state] + city_effect[city] + device_effect[device] + np.where(has_promo, promo_effect[promo], 0.0)
             + 0.5 * ((contract == 0) & (internet == 1))
             - 1.3 * np.log1p(tenure) / np.log(73.0)
             + 0.3 * np.minimum(support_calls, 4) + 0.012 * (monthly - 65.0))
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    missing_payment = rng.random(n) < 0.02
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "state", "city", "device", "promo", "contract", "internet", "payment_method", "plan",
                         "channel", "age_group", "referral", "tenure_months", "support_calls", "monthly_charges", "churn"])
        for i in range(n):
            writer.writerow([f"C{i + 1:07d}", states[state[i]], cities[city[i]], devices[device[i]],
                             promos[promo[i]] if has_promo[i] else "none", contracts[contract[i]], internets[internet[i]],
                             "" if missing_payment[i] else payments[payment[i]], plans[plan[i]], channels[channel[i]],
                             ages[age[i]], "yes" if referral[i] else "no", tenure[i], support_calls[i],
                             f"{monthly[i]:.2f}", "yes" if churn[i] else "no"])
    print(f"{args.out}: {n} rows, churn rate {churn.mean():.3f}")


if __name__ == "__main__":
    main()
