using Confluent.Kafka;

namespace StreamMl.Connectors;

/// <summary>TLS and SASL settings of a Kafka client. Passwords are <see cref="Secret"/>s (environment variable or file),
/// read when the client is built and never logged.</summary>
public sealed class KafkaSecurityOptions
{
    /// <summary>Plaintext, Ssl, SaslPlaintext or SaslSsl. Default: librdkafka's default (plaintext).</summary>
    public SecurityProtocol? Protocol { get; set; }

    /// <summary>SASL mechanism (Plain, ScramSha256, ScramSha512, OAuthBearer, Gssapi).</summary>
    public SaslMechanism? SaslMechanism { get; set; }

    /// <summary>SASL user name.</summary>
    public string? SaslUsername { get; set; }

    /// <summary>SASL password.</summary>
    public Secret? SaslPassword { get; set; }

    /// <summary>PEM file of the certificate authorities to trust (TLS).</summary>
    public string? SslCaLocation { get; set; }

    /// <summary>Client certificate (PEM) for mutual TLS.</summary>
    public string? SslCertificateLocation { get; set; }

    /// <summary>Client private key (PEM) for mutual TLS.</summary>
    public string? SslKeyLocation { get; set; }

    /// <summary>Password of the client private key.</summary>
    public Secret? SslKeyPassword { get; set; }

    /// <summary>Verify the broker's certificate and host name. Default true; turn off only against a test broker.</summary>
    public bool VerifyCertificate { get; set; } = true;

    /// <summary>The secret values in use, for log redaction.</summary>
    internal IEnumerable<string?> SecretValues()
    {
        if (SaslPassword is not null && SaslPassword.TryReveal(out var p)) yield return p;
        if (SslKeyPassword is not null && SslKeyPassword.TryReveal(out var k)) yield return k;
    }

    internal void ApplyTo(ClientConfig config)
    {
        if (Protocol is { } protocol) config.SecurityProtocol = protocol;
        if (SaslMechanism is { } mechanism) config.SaslMechanism = mechanism;
        if (SaslUsername is not null) config.SaslUsername = SaslUsername;
        if (SaslPassword is not null) config.SaslPassword = SaslPassword.Reveal();
        if (SslCaLocation is not null) config.SslCaLocation = SslCaLocation;
        if (SslCertificateLocation is not null) config.SslCertificateLocation = SslCertificateLocation;
        if (SslKeyLocation is not null) config.SslKeyLocation = SslKeyLocation;
        if (SslKeyPassword is not null) config.SslKeyPassword = SslKeyPassword.Reveal();
        if (!VerifyCertificate)
        {
            config.EnableSslCertificateVerification = false;
            config.SslEndpointIdentificationAlgorithm = SslEndpointIdentificationAlgorithm.None;
        }
        if ((Protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl) && SaslUsername is null && SaslMechanism != Confluent.Kafka.SaslMechanism.OAuthBearer)
            throw new ConnectorConfigurationException($"Kafka security protocol {Protocol} needs SaslUsername and SaslPassword");
    }
}
