using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace StreamMl.Benchmarks;

/// <summary>The configuration every micro benchmark shares: allocations are always reported (the hot path must show
/// 0 B), and results are grouped by parameters so ratios compare like with like.</summary>
public sealed class Config : ManualConfig
{
    /// <summary>Creates the shared configuration on top of BenchmarkDotNet's defaults.</summary>
    public Config()
    {
        Add(DefaultConfig.Instance);
        AddDiagnoser(MemoryDiagnoser.Default);
        WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByParams, BenchmarkLogicalGroupRule.ByCategory);
    }
}
