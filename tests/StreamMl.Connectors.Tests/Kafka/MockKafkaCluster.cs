using System.Runtime.InteropServices;
using System.Text;

namespace StreamMl.Connectors.Tests.Kafka;

/// <summary>librdkafka's mock cluster driven through its C API, which Confluent.Kafka does not expose: brokers can be
/// taken down and brought back (<see cref="SetDown"/>, <see cref="SetUp"/>) to test a broker outage. The brokers listen
/// on 127.0.0.1 and live until <see cref="Dispose"/>, so clients in this process and in other processes reach them
/// through <see cref="BootstrapServers"/>. Broker ids run from 1 to the broker count.</summary>
/// <remarks>Signatures from librdkafka.redist 2.16.0 build/native/include/librdkafka/rdkafka.h and rdkafka_mock.h;
/// the exports were checked with <c>nm -D librdkafka.so</c>. "librdkafka" resolves to the very library Confluent.Kafka
/// loaded: it picks among the package's builds (here centos8-librdkafka.so, as librdkafka.so needs libsasl2), so the
/// path is taken from the process's memory map after Confluent.Kafka has loaded it.</remarks>
internal sealed partial class MockKafkaCluster : IDisposable
{
    private const string Library = "librdkafka";
    private const int ProducerType = 0; // RD_KAFKA_PRODUCER
    private const int AllBrokers = -1;

    private IntPtr _handle;
    private IntPtr _cluster;

    static MockKafkaCluster() => NativeLibrary.SetDllImportResolver(typeof(MockKafkaCluster).Assembly, Resolve);

    private static IntPtr Resolve(string name, System.Reflection.Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library) return IntPtr.Zero;
        _ = Confluent.Kafka.Library.Version; // makes Confluent.Kafka load its librdkafka build
        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line[(line.IndexOf('/') is var i and >= 0 ? i : line.Length)..])
            .FirstOrDefault(path => Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal))
            ?? throw new DllNotFoundException("Confluent.Kafka did not load a librdkafka.so");
        return NativeLibrary.Load(loaded);
    }

    public MockKafkaCluster(int brokers = 3)
    {
        var conf = rd_kafka_conf_new();
        var error = new byte[512];
        // The handle only keeps the cluster's books; it sends nothing.
        if (rd_kafka_conf_set(conf, "client.id", "mock-cluster-host", error, (nuint)error.Length) != 0) throw Fail("conf", error);
        // Its only warning would be the missing bootstrap.servers, which it never uses.
        if (rd_kafka_conf_set(conf, "log_level", "4", error, (nuint)error.Length) != 0) throw Fail("conf", error);
        _handle = rd_kafka_new(ProducerType, conf, error, (nuint)error.Length);
        if (_handle == IntPtr.Zero) throw Fail("rd_kafka_new", error); // conf is owned by rd_kafka_new only on success
        _cluster = rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(_handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed");
        }
        BrokerCount = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))!;
    }

    /// <summary>"127.0.0.1:p1,127.0.0.1:p2,...".</summary>
    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions (auto-created topics get 4).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1) =>
        Check(rd_kafka_mock_topic_create(_cluster, topic, partitions, replicationFactor), $"create topic {topic}");

    /// <summary>Disconnects broker <paramref name="brokerId"/> (every broker when omitted) and refuses new connections.
    /// Partition leadership does not move.</summary>
    public void SetDown(int brokerId = AllBrokers) => Check(rd_kafka_mock_broker_set_down(_cluster, brokerId), $"set broker {brokerId} down");

    /// <summary>Lets broker <paramref name="brokerId"/> (every broker when omitted) accept connections again.</summary>
    public void SetUp(int brokerId = AllBrokers) => Check(rd_kafka_mock_broker_set_up(_cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>Makes broker <paramref name="brokerId"/> the leader of a partition.</summary>
    public void SetLeader(string topic, int partition, int brokerId) =>
        Check(rd_kafka_mock_partition_set_leader(_cluster, topic, partition, brokerId), $"move {topic}[{partition}] to broker {brokerId}");

    public void Dispose()
    {
        if (_cluster != IntPtr.Zero) rd_kafka_mock_cluster_destroy(_cluster);
        if (_handle != IntPtr.Zero) rd_kafka_destroy(_handle);
        _cluster = IntPtr.Zero;
        _handle = IntPtr.Zero;
    }

    private static void Check(int error, string what)
    {
        if (error != 0) throw new InvalidOperationException($"mock cluster: {what} failed with librdkafka error {error}");
    }

    private static InvalidOperationException Fail(string what, byte[] error) =>
        new($"{what} failed: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, [Out] byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_new(int type, IntPtr conf, [Out] byte[] errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_partition_set_leader(IntPtr cluster, string topic, int partition, int brokerId);
}
