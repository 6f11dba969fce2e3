using StreamMl.Host.Auth;

namespace StreamMl.Host.Hosting;

/// <summary>Options of an embedded or served StreamMl host (configuration section <c>StreamMl</c>).</summary>
public sealed class StreamMlOptions
{
    /// <summary>Address the gRPC server listens on. Default <c>127.0.0.1</c>. Any other address is refused unless
    /// <see cref="ApiKeys"/> (or <c>STREAMML_API_KEYS</c>) configures authentication.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>gRPC port (HTTP/2). Default 50051; 0 picks a free port.</summary>
    public int Port { get; set; } = 50051;

    /// <summary>Port of the Prometheus endpoint <c>/metrics</c> (HTTP/1.1) on the same address. Default 9464;
    /// 0 picks a free port; -1 turns the endpoint off.</summary>
    public int MetricsPort { get; set; } = 9464;

    /// <summary>Port of the Open Inference Protocol's HTTP/JSON routes (<c>/v2/...</c>) for HTTP/1.1 clients (curl,
    /// Triton's and KServe's HTTP clients) on the same address. Default -1: off (the routes still answer on the gRPC
    /// port over HTTP/2); 0 picks a free port.</summary>
    public int HttpPort { get; set; } = -1;

    /// <summary>A PFX certificate for TLS on the gRPC port. Default none (plain HTTP/2, fine on loopback).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of <see cref="CertificatePath"/>. Default none.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>API keys with their roles. Default none: no authentication, loopback only. Keys from the
    /// <c>STREAMML_API_KEYS</c> environment variable are added to these.</summary>
    public List<ApiKeyOptions> ApiKeys { get; } = [];

    /// <summary>A file of API keys, one <c>role:KEY</c> or <c>role:sha256=HEX</c> per line (blank lines and <c>#</c>
    /// comments skipped), added to <see cref="ApiKeys"/>. Keeps keys out of the command line, where <c>ps</c> shows
    /// them. Default none.</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>Spec files (YAML or JSON) of pipelines to create and start when the host starts. Default none.</summary>
    public List<string> PipelineSpecs { get; } = [];

    /// <summary>The default of <see cref="MaxReceiveMessageBytes"/> and <see cref="MaxSendMessageBytes"/>: 64 MiB.</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    /// <summary>The largest gRPC message the host receives. Default 64 MiB (<c>--max-receive-message-size</c>,
    /// <c>STREAMML_MAX_RECEIVE_MESSAGE_SIZE</c>). Kestrel's request body limit is set to this plus the 5-byte gRPC frame
    /// header, so a unary call up to this size is read and a larger one is answered with RESOURCE_EXHAUSTED naming the
    /// limit and the setting (Kestrel's own default of 30 MB answered calls between 30 and 64 MB with UNKNOWN).</summary>
    public int MaxReceiveMessageBytes { get; set; } = MaxMessageBytes;

    /// <summary>The largest gRPC message the host sends. Default 64 MiB (<c>--max-send-message-size</c>,
    /// <c>STREAMML_MAX_SEND_MESSAGE_SIZE</c>).</summary>
    public int MaxSendMessageBytes { get; set; } = MaxMessageBytes;

    /// <summary>Concurrent HTTP/2 streams (calls) per client connection. Default 100, Kestrel's (<c>--max-streams-per-connection</c>,
    /// <c>STREAMML_MAX_STREAMS_PER_CONNECTION</c>). One is kept for unary calls: a streaming call (Subscribe, ScoreStream,
    /// Ingest, IngestAcked) that would take the last is refused with RESOURCE_EXHAUSTED naming this setting, so Score on
    /// the same connection keeps working instead of queueing behind streams that never end. At least 2.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;

    /// <summary>Sends an HTTP/2 PING to a client connection idle for this long, and closes it when no answer comes within
    /// <see cref="KeepAlivePingTimeout"/>. Default off (<c>--keepalive-ping-delay</c>, <c>STREAMML_KEEPALIVE_PING_DELAY</c>,
    /// seconds).</summary>
    public TimeSpan? KeepAlivePingDelay { get; set; }

    /// <summary>How long an HTTP/2 PING may go unanswered before the connection is closed. Default 20 s, Kestrel's
    /// (<c>--keepalive-ping-timeout</c>, <c>STREAMML_KEEPALIVE_PING_TIMEOUT</c>, seconds).</summary>
    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Memory the pipelines' rings may take together: bytes with a unit (<c>8GiB</c>, <c>512MB</c>) or a share
    /// of the memory available to the process (<c>25%</c>). A spec whose estimate (ring_size × batch_capacity × bytes
    /// per row) does not fit is refused at create time, naming the fields. Default: <c>STREAMML_MEMORY_BUDGET</c>, else
    /// half of the available memory.</summary>
    public string? MemoryBudget { get; set; }

    /// <summary>Most rows one Score request may carry. Default 1024.</summary>
    public int MaxScoreRows { get; set; } = 1024;

    /// <summary>Serve gRPC server reflection (for grpcurl and similar tools). Default true.</summary>
    public bool EnableReflection { get; set; } = true;

    /// <summary>Folder of the model registry. Default <c>models</c> under the working directory.</summary>
    public string RegistryPath { get; set; } = "models";

    /// <summary>Runs Kestrel's socket reads and writes inline on the I/O thread instead of the thread pool (one thread
    /// hop fewer per call). Set by <c>streamml bench --compare-inline-io</c> to measure it; off by default.</summary>
    internal bool InlineSocketScheduling { get; set; }
}
