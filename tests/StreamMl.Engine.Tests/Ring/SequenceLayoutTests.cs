using System.Runtime.CompilerServices;
using StreamMl.Engine.Ring;

namespace StreamMl.Engine.Tests.Ring;

public sealed class SequenceLayoutTests
{
    [Fact]
    public void Sequence_value_has_at_least_a_cache_line_pair_before_it_in_its_object()
    {
        var sequence = new Sequence(7);
        ref var start = ref Unsafe.As<RawObject>(sequence).FirstByte;
        ref var value = ref Unsafe.As<long, byte>(ref sequence.ValueRef);
        var offset = (long)Unsafe.ByteOffset(ref start, ref value);

        // Fields start after the 8-byte method-table pointer; with it, at least 128 bytes precede the value.
        Assert.True(offset + 8 >= 128, $"value at field offset {offset}");
        Assert.Equal(7, sequence.Value);
    }

    [Fact]
    public unsafe void Values_of_sequences_allocated_back_to_back_are_two_cache_lines_apart()
    {
        // Allocations are bump-pointer adjacent, so without padding two values would share a 64-byte line. A no-GC
        // region keeps objects from moving between the two address reads; when one cannot start, a GC in between
        // would only move both objects together, so the check still holds.
        var noGc = GC.TryStartNoGCRegion(1_000_000);
        try
        {
            var distances = new List<long>();
            for (var i = 0; i < 16; i++)
            {
                var a = new Sequence();
                var b = new Sequence();
                var pa = (long)Unsafe.AsPointer(ref a.ValueRef);
                var pb = (long)Unsafe.AsPointer(ref b.ValueRef);
                distances.Add(Math.Abs(pb - pa));
                GC.KeepAlive(a);
                GC.KeepAlive(b);
            }
            Assert.True(distances.Min() >= 128, $"closest values were {distances.Min()} bytes apart");
        }
        finally
        {
            if (noGc) GC.EndNoGCRegion();
        }
    }

    private sealed class RawObject
    {
        public byte FirstByte;
    }
}
