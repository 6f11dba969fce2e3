using System.Globalization;
using System.Text;

namespace StreamMl.Operators.Drift.Internal;

/// <summary>Turns accumulated counts into scores and a status. Scoring allocates nothing, so windows can close on
/// the hot path; explaining (the reason text) happens only when a report is built.</summary>
internal static class DriftScorer
{
    public static FeatureScores Score(FeatureBinding f, FeatureAccumulator acc, DriftThresholds t)
    {
        var s = new FeatureScores
        {
            Psi = double.NaN, JensenShannon = double.NaN, Ks = double.NaN, Wasserstein = double.NaN,
            WassersteinRelative = double.NaN, ChiSquare = double.NaN, ChiSquarePValue = double.NaN, UnseenRate = double.NaN,
        };
        var all = acc.Present + acc.Missing;
        s.MissingRate = all == 0 ? double.NaN : (double)acc.Missing / all;
        var profile = f.Profile;
        if (f.Kind == FeatureKind.Numeric)
        {
            var n = acc.Moments.Count;
            if (n > 0 && f.ReferenceTotal > 0)
            {
                s.Psi = DriftMath.PsiCumulative(f.ReferenceLess, f.ReferenceTotal, acc.Counts, n, t.PsiFloor);
                s.JensenShannon = DriftMath.JensenShannonCumulative(f.ReferenceLess, f.ReferenceTotal, acc.Counts, n);
                s.Ks = DriftMath.KsCumulative(f.ReferenceLess, f.ReferenceTotal, acc.Counts, n);
                var tails = acc.Tails with { Sum = acc.Moments.Mean * n };
                s.Wasserstein = DriftMath.WassersteinCumulative(f.Edges, f.ReferenceLess, f.ReferenceTotal, f.ReferenceTails,
                    acc.Counts, n, tails);
                // A feature that was constant in training has sd 0: any movement at all is infinitely many sds.
                s.WassersteinRelative = profile.StdDev > 0 ? s.Wasserstein / profile.StdDev
                    : profile.StdDev == 0 ? (s.Wasserstein > 0 ? double.PositiveInfinity : 0) : double.NaN;
            }
        }
        else if (acc.Present > 0 && f.ReferenceTotal > 0)
        {
            s.Psi = DriftMath.Psi(profile.CategoryCounts, f.ReferenceTotal, acc.Counts, acc.Present, t.PsiFloor);
            s.JensenShannon = DriftMath.JensenShannon(profile.CategoryCounts, f.ReferenceTotal, acc.Counts, acc.Present);
            (s.ChiSquare, _, s.ChiSquarePValue) = DriftMath.ChiSquare(profile.CategoryCounts, f.ReferenceTotal, acc.Counts, acc.Present);
            s.UnseenRate = (double)acc.Counts[f.OtherBucket] / acc.Present;
        }
        s.Status = acc.Present < t.MinRows ? DriftStatus.Unknown : Judge(s, profile.MissingRate, t, null);
        return s;
    }

    /// <summary>The status of <paramref name="s"/>; when <paramref name="reason"/> is given, appends why.</summary>
    public static DriftStatus Judge(in FeatureScores s, double referenceMissingRate, DriftThresholds t, StringBuilder? reason)
    {
        var status = DriftStatus.Ok;
        Check(ref status, "psi", s.Psi, t.Psi, higherIsWorse: true, reason);
        Check(ref status, "ks", s.Ks, t.KolmogorovSmirnov, higherIsWorse: true, reason);
        Check(ref status, "js", s.JensenShannon, t.JensenShannon, higherIsWorse: true, reason);
        Check(ref status, "wasserstein/sd", s.WassersteinRelative, t.WassersteinRelative, higherIsWorse: true, reason);
        Check(ref status, "chi2 p", s.ChiSquarePValue, t.ChiSquarePValue, higherIsWorse: false, reason);
        Check(ref status, "missing rate increase", s.MissingRate - referenceMissingRate, t.MissingRateIncrease, higherIsWorse: true, reason);
        return status;
    }

    private static void Check(ref DriftStatus status, string name, double value, Threshold? threshold, bool higherIsWorse, StringBuilder? reason)
    {
        if (threshold is not { } th || double.IsNaN(value)) return;
        DriftStatus level;
        double crossed;
        if (higherIsWorse ? value >= th.Drift : value <= th.Drift) { level = DriftStatus.Drift; crossed = th.Drift; }
        else if (higherIsWorse ? value >= th.Warning : value <= th.Warning) { level = DriftStatus.Warning; crossed = th.Warning; }
        else return;
        if (level > status) status = level;
        if (reason is null) return;
        if (reason.Length > 0) reason.Append("; ");
        reason.Append(name).Append(' ').Append(value.ToString("G4", CultureInfo.InvariantCulture))
            .Append(higherIsWorse ? " >= " : " <= ").Append(crossed.ToString("G4", CultureInfo.InvariantCulture))
            .Append(level == DriftStatus.Drift ? " (drift)" : " (warning)");
    }
}
