using StreamMl.Host.Models;

namespace StreamMl.Host.Demo;

/// <summary>A small logistic regression fitted by full-batch gradient descent on standardised inputs; the demo's
/// stand-in trainer, folded back into raw-input weights so the host's linear scorer can serve it.</summary>
internal sealed record LogisticFit(string[] Inputs, double[] Weights, double Bias, double Accuracy, double LogLoss)
{
    public static LogisticFit Fit(float[][] x, bool[] y, string[] inputs, int iterations = 300, double rate = 0.5)
    {
        var n = x.Length;
        var d = inputs.Length;
        var mean = new double[d];
        var sd = new double[d];
        for (var j = 0; j < d; j++)
        {
            mean[j] = x.Average(r => r[j]);
            sd[j] = Math.Sqrt(x.Sum(r => (r[j] - mean[j]) * (r[j] - mean[j])) / n);
            if (sd[j] == 0) sd[j] = 1;
        }
        var w = new double[d];
        var b = 0.0;
        var gradient = new double[d];
        for (var it = 0; it < iterations; it++)
        {
            Array.Clear(gradient);
            var gb = 0.0;
            for (var i = 0; i < n; i++)
            {
                var z = b;
                for (var j = 0; j < d; j++) z += w[j] * (x[i][j] - mean[j]) / sd[j];
                var error = 1 / (1 + Math.Exp(-z)) - (y[i] ? 1 : 0);
                for (var j = 0; j < d; j++) gradient[j] += error * (x[i][j] - mean[j]) / sd[j];
                gb += error;
            }
            for (var j = 0; j < d; j++) w[j] -= rate * gradient[j] / n;
            b -= rate * gb / n;
        }
        // Fold the standardisation into the weights: w'x + b over raw inputs.
        var raw = new double[d];
        var bias = b;
        for (var j = 0; j < d; j++)
        {
            raw[j] = w[j] / sd[j];
            bias -= w[j] * mean[j] / sd[j];
        }
        int correct = 0;
        var loss = 0.0;
        for (var i = 0; i < n; i++)
        {
            var z = bias;
            for (var j = 0; j < d; j++) z += raw[j] * x[i][j];
            var p = Math.Clamp(1 / (1 + Math.Exp(-z)), 1e-7, 1 - 1e-7);
            if (p >= 0.5 == y[i]) correct++;
            loss -= y[i] ? Math.Log(p) : Math.Log(1 - p);
        }
        return new LogisticFit(inputs, raw, bias, (double)correct / n, loss / n);
    }

    public ModelEntry ToEntry(string name, string version)
    {
        var weights = Inputs.Select((input, j) => (input, Weights[j])).ToDictionary(p => p.input, p => p.Item2);
        return new ModelEntry(name, version, "linear", Inputs, () => new LinearModel(weights, Bias, logistic: true),
            new Dictionary<string, double> { ["train_accuracy"] = Accuracy, ["train_log_loss"] = LogLoss },
            new Dictionary<string, string> { ["trainer"] = "demo logistic regression (gradient descent)", ["data"] = "generated sensor readings, seed 42" });
    }
}
