using StreamMl.Operators.Monitoring;
using StreamMl.Operators.Retraining;
using StreamMl.Testing;

namespace StreamMl.Operators.Tests.Retraining;

/// <summary>The trigger against plain references: a metric that must stay bad for a while, drift counts, alerts by
/// monitor, a schedule; and the live metrics against textbook formulas.</summary>
public sealed class RetrainTriggerTests
{
    [Fact]
    public void Metric_below_for_a_duration_fires_exactly_when_a_plain_reference_says_it_should()
    {
        var random = new Random(3);
        var options = new RetrainTriggerOptions { Metric = "auc", Below = 0.7, For = TimeSpan.FromMinutes(5) };
        var clock = new ManualClock();
        var trigger = new RetrainTrigger(options, clock);
        DateTimeOffset? badSince = null;
        var fired = 0;
        for (var step = 0; step < 2000; step++)
        {
            // Runs of good and bad values with gaps of NaN (a window with one class), 1 minute apart.
            var value = random.NextDouble() < 0.05 ? double.NaN : step / 40 % 2 == 0 ? 0.6 + 0.3 * random.NextDouble() : 0.5 + 0.19 * random.NextDouble();
            trigger.ReportMetric(value);
            if (!double.IsNaN(value)) badSince = value < 0.7 ? badSince ?? clock.GetUtcNow() : null;
            var expected = badSince is { } since && clock.GetUtcNow() - since >= options.For;
            var due = trigger.Due();
            Assert.True(expected == (due is not null), $"step {step}: value {value}, reference {(expected ? "due" : "not due")}, trigger '{due}'");
            if (due is not null)
            {
                Assert.StartsWith("metric: auc", due);
                fired++;
                trigger.Restart();
                badSince = null;
            }
            clock.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.True(fired > 5, $"the generated runs should fire the trigger several times, fired {fired}");
    }

    [Fact]
    public void Rmse_above_a_limit_fires_and_a_good_value_in_between_starts_the_wait_again()
    {
        var clock = new ManualClock();
        var trigger = new RetrainTrigger(new RetrainTriggerOptions { Metric = "rmse", Above = 2, For = TimeSpan.FromMinutes(3) }, clock);
        foreach (var (value, due) in new[] { (2.5, false), (3.0, false), (1.0, false), (2.1, false), (2.2, false), (2.3, false), (2.4, true) })
        {
            trigger.ReportMetric(value);
            Assert.Equal(due, trigger.Due() is not null);
            clock.Advance(TimeSpan.FromMinutes(1));
        }
    }

    [Fact]
    public void Drift_fires_from_the_given_number_of_features_and_a_report_below_it_clears_it()
    {
        var trigger = new RetrainTrigger(new RetrainTriggerOptions { DriftFeatures = 3 }, new ManualClock());
        trigger.ReportDrift(["a", "b"]);
        Assert.Null(trigger.Due());
        trigger.ReportDrift(["a", "b", "c"]);
        Assert.Equal("drift: 3 features in drift (a, b, c), limit 3", trigger.Due());
        trigger.ReportDrift(["a"]);
        Assert.Null(trigger.Due());
    }

    [Fact]
    public void Alerts_fire_only_from_the_named_monitor_and_are_forgotten_on_restart()
    {
        var trigger = new RetrainTrigger(new RetrainTriggerOptions { Alert = "sensors" }, new ManualClock());
        trigger.ReportAlert(AlertFrom("other"));
        Assert.Null(trigger.Due());
        trigger.ReportAlert(AlertFrom("sensors"));
        Assert.Equal("alert: monitor sensors: temperature out of range", trigger.Due());
        trigger.Restart();
        Assert.Null(trigger.Due());
    }

    [Fact]
    public void A_schedule_fires_every_period_from_the_last_restart()
    {
        var clock = new ManualClock();
        var trigger = new RetrainTrigger(new RetrainTriggerOptions { Every = TimeSpan.FromDays(1) }, clock);
        var fired = new List<double>();
        for (var hour = 1; hour <= 24 * 5; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
            if (trigger.Due() is { } reason)
            {
                Assert.Equal("schedule: every 1d", reason);
                fired.Add(hour);
                if (hour % 48 != 0) trigger.Restart(); // at hour 48 the retrain is "busy": it stays due until restarted
            }
        }
        Assert.Equal([24, 48, 49, 73, 97], fired);
    }

    [Fact]
    public void Live_metrics_equal_their_textbook_definitions()
    {
        var random = new Random(5);
        var scores = Enumerable.Range(0, 500).Select(_ => (float)Math.Round(random.NextDouble(), 2)).ToArray(); // ties included
        var labels = scores.Select(s => random.NextDouble() < s ? 1f : 0f).ToArray();
        // AUC: the share of (positive, negative) pairs ranked right, ties counting one half.
        double pairs = 0, right = 0;
        for (var i = 0; i < scores.Length; i++)
            for (var j = 0; j < scores.Length; j++)
                if (labels[i] == 1 && labels[j] == 0)
                {
                    pairs++;
                    right += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
        Assert.Equal(right / pairs, RetrainTrigger.Compute("auc", scores, labels), 9);
        var accuracy = scores.Zip(labels).Count(p => (p.First >= 0.5f ? 1f : 0f) == p.Second) / (double)scores.Length;
        Assert.Equal(accuracy, RetrainTrigger.Compute("accuracy", scores, labels), 12);
        var rmse = Math.Sqrt(scores.Zip(labels).Average(p => (double)(p.First - p.Second) * (p.First - p.Second)));
        Assert.Equal(rmse, RetrainTrigger.Compute("rmse", scores, labels), 6);
    }

    [Theory]
    [InlineData("{}", "at least one trigger")]
    [InlineData("metric: auc", "exactly one of below or above")]
    [InlineData("metric: rmse below", "use above, not below")]
    [InlineData("metric: f2", "metric 'f2' is not one of auc, accuracy, rmse")]
    [InlineData("drift_features: 0", "drift_features must be at least 1")]
    public void Bad_settings_say_which_setting_and_why(string setting, string message)
    {
        var options = setting switch
        {
            "metric: auc" => new RetrainTriggerOptions { Metric = "auc" },
            "metric: rmse below" => new RetrainTriggerOptions { Metric = "rmse", Below = 1 },
            "metric: f2" => new RetrainTriggerOptions { Metric = "f2", Below = 1 },
            "drift_features: 0" => new RetrainTriggerOptions { DriftFeatures = 0 },
            _ => new RetrainTriggerOptions(),
        };
        Assert.Contains(message, Assert.Throws<RetrainException>(options.Validate).Message);
    }

    private static Alert AlertFrom(string monitor) => new()
    {
        Kind = "anomaly", Key = "", EventTime = 0, Column = "temperature", Detector = "page-hinkley", Message = "temperature out of range", Monitor = monitor,
    };
}
