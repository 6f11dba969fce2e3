using MQTTnet;
using MQTTnet.Protocol;

namespace StreamMl.Connectors.Tests.Mqtt;

/// <summary>Publishes test messages with a plain MQTTnet client (QoS 1, each acknowledged by the broker).</summary>
internal static class MqttTestClient
{
    public static async Task PublishAsync(string host, int port, IEnumerable<(string Topic, string Payload)> messages, string? user = null, string? password = null)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder().WithTcpServer(host, port).WithClientId("pub-" + Guid.NewGuid().ToString("N"));
        if (user is not null) options.WithCredentials(user, password);
        await client.ConnectAsync(options.Build());
        foreach (var (topic, payload) in messages)
        {
            var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            await client.PublishAsync(message);
        }
        await client.DisconnectAsync();
    }
}
