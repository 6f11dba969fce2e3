using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using StreamMl.Engine;
using StreamMl.Host.Auth;
using StreamMl.Host.Grpc.Inference.Protocol;
using StreamMl.Host.Hosting;
using InputTensor = StreamMl.Host.Grpc.Inference.Protocol.ModelInferRequest.Types.InferInputTensor;

namespace StreamMl.Host.Grpc.Inference;

/// <summary>The Open Inference Protocol's HTTP/REST form: health, server and model metadata, model readiness and
/// inference with JSON tensors, answered by the same <see cref="InferenceModels"/> as the gRPC service. The API key goes
/// in the same headers as for gRPC (<c>authorization: Bearer KEY</c> or <c>x-api-key: KEY</c>); health needs none.
/// Errors are <c>{"error": "..."}</c> with 400 (bad request), 401, 403 or 404 (unknown model or version).</summary>
internal static class InferenceHttp
{
    // Messages quote names with ' and JSON answers go to JSON readers, not into HTML: no need to escape them.
    private static readonly JsonWriterOptions s_writer = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Maps the <c>/v2</c> routes.</summary>
    public static void MapOpenInference(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v2/health/live", context => Status(context, 200));
        app.MapGet("/v2/health/ready", context => Status(context, Models(context).ServerReady() ? 200 : 400));
        app.MapGet("/v2", context => Keyed(context, static (models, _) => WriteServerMetadata(models.ServerMetadata())));
        foreach (var model in new[] { "/v2/models/{name}", "/v2/models/{name}/versions/{version}" })
        {
            app.MapGet(model, context => Keyed(context, static (models, c) => WriteModelMetadata(models.Metadata(Name(c), Version(c)))));
            app.MapGet(model + "/ready", context => Keyed(context, static (models, c) =>
            {
                models.Resolve(Name(c), Version(c)); // 404 for an unknown model or version
                return models.Ready(Name(c), Version(c)) ? null : throw InferenceException.BadInput($"model '{Name(c)}' is not ready: deploy a model to it");
            }));
            app.MapPost(model + "/infer", InferAsync);
        }
    }

    private static InferenceModels Models(HttpContext context) => context.RequestServices.GetRequiredService<InferenceModels>();

    private static string Name(HttpContext context) => (string)context.Request.RouteValues["name"]!;

    private static string Version(HttpContext context) => context.Request.RouteValues["version"] as string ?? "";

    private static Task Status(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>Checks the key (score role), then answers with the JSON <paramref name="answer"/> writes (200 with no
    /// body when it returns null).</summary>
    private static async Task Keyed(HttpContext context, Func<InferenceModels, HttpContext, Action<Utf8JsonWriter>?> answer)
    {
        if (!await AuthorizedAsync(context)) return;
        Action<Utf8JsonWriter>? write;
        try
        {
            write = answer(Models(context), context);
        }
        catch (InferenceException ex)
        {
            await ErrorAsync(context, ex.HttpStatus, ex.Message);
            return;
        }
        context.Response.StatusCode = 200;
        if (write is null) return;
        context.Response.ContentType = "application/json";
        await using (var json = new Utf8JsonWriter(context.Response.BodyWriter, s_writer)) write(json);
    }

    private static async Task InferAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context)) return;
        ModelInferResponse response;
        try
        {
            JsonDocument body;
            try
            {
                body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            }
            catch (JsonException ex)
            {
                throw InferenceException.BadInput($"the request body is not JSON ({ex.Message}); send an inference request object: {{\"inputs\": [{{\"name\", \"shape\", \"datatype\", \"data\"}}]}}");
            }
            using (body) response = Models(context).Infer(ToRequest(body.RootElement, Name(context), Version(context)));
        }
        catch (InferenceException ex)
        {
            await ErrorAsync(context, ex.HttpStatus, ex.Message);
            return;
        }
        catch (BadInputException ex)
        {
            await ErrorAsync(context, 400, ex.Message);
            return;
        }
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, s_writer);
        WriteInferResponse(json, response);
    }

    /// <summary>401 without a valid key, 403 for a key without the score role; true when the call may go on.</summary>
    private static async Task<bool> AuthorizedAsync(HttpContext context)
    {
        var keys = context.RequestServices.GetRequiredService<ApiKeyStore>();
        if (!keys.Enabled) return true;
        var headers = context.Request.Headers;
        string? presented = headers.Authorization.ToString() is { } authorization && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization[7..].Trim()
            : headers["x-api-key"].ToString() is { Length: > 0 } key ? key : null;
        var path = context.Request.Path.Value;
        if (presented is null)
        {
            await ErrorAsync(context, 401, $"{path} needs an API key with the score role: send header 'authorization: Bearer <key>' or 'x-api-key: <key>'");
            return false;
        }
        if (keys.Find(presented) is not { } found)
        {
            await ErrorAsync(context, 401, "the API key is not valid");
            return false;
        }
        if (found.Role < ApiRole.Score)
        {
            await ErrorAsync(context, 403, $"{path} needs the score role; this key has {found.Role.ToString().ToLowerInvariant()}");
            return false;
        }
        return true;
    }

    private static async Task ErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.BodyWriter, s_writer);
        json.WriteStartObject();
        json.WriteString("error", SafeText.Detail(message));
        json.WriteEndObject();
    }

    /// <summary>The JSON inference request as the gRPC message: each input's <c>data</c> (flat or nested in row-major
    /// order) goes to the contents field of its datatype.</summary>
    internal static ModelInferRequest ToRequest(JsonElement root, string name, string version)
    {
        if (root.ValueKind != JsonValueKind.Object) throw InferenceException.BadInput("the request body must be a JSON object with \"inputs\"");
        var request = new ModelInferRequest { ModelName = name, ModelVersion = version };
        if (root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String) request.Id = id.GetString()!;
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            throw InferenceException.BadInput("the request has no \"inputs\" array");
        var index = 0;
        foreach (var input in inputs.EnumerateArray())
        {
            var tensor = new InputTensor
            {
                Name = Text(input, "name", $"inputs[{index}]"),
                Datatype = Text(input, "datatype", $"inputs[{index}]"),
                Contents = new InferTensorContents(),
            };
            var where = $"input '{tensor.Name}'";
            if (!input.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array)
                throw InferenceException.BadInput($"{where} has no \"shape\" array");
            foreach (var dim in shape.EnumerateArray())
                tensor.Shape.Add(dim.ValueKind == JsonValueKind.Number && dim.TryGetInt64(out var d) ? d : throw InferenceException.BadInput($"{where}: shape holds {dim.GetRawText()}, not an integer"));
            if (!input.TryGetProperty("data", out var data)) throw InferenceException.BadInput($"{where} has no \"data\"");
            var element = 0;
            AddData(tensor, data, where, ref element);
            request.Inputs.Add(tensor);
            index++;
        }
        if (root.TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Array)
            foreach (var output in outputs.EnumerateArray())
                request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = Text(output, "name", "outputs") });
        return request;
    }

    private static string Text(JsonElement element, string property, string where) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw InferenceException.BadInput($"{where} has no \"{property}\" string");

    private static void AddData(InputTensor tensor, JsonElement data, string where, ref int element)
    {
        if (data.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in data.EnumerateArray()) AddData(tensor, item, where, ref element);
            return;
        }
        var contents = tensor.Contents;
        var ok = tensor.Datatype switch
        {
            TensorTypes.Fp32 when data.ValueKind == JsonValueKind.Number => Add(contents.Fp32Contents, data.GetSingle()),
            TensorTypes.Fp64 when data.ValueKind == JsonValueKind.Number => Add(contents.Fp64Contents, data.GetDouble()),
            TensorTypes.Int32 when data.TryGetInt32Safe(out var i) => Add(contents.IntContents, i),
            TensorTypes.Int64 when data.TryGetInt64Safe(out var l) => Add(contents.Int64Contents, l),
            TensorTypes.Bool when data.ValueKind is JsonValueKind.True or JsonValueKind.False => Add(contents.BoolContents, data.GetBoolean()),
            TensorTypes.Bytes when data.ValueKind == JsonValueKind.String => Add(contents.BytesContents, ByteString.CopyFromUtf8(data.GetString()!)),
            TensorTypes.Fp32 or TensorTypes.Fp64 or TensorTypes.Int32 or TensorTypes.Int64 or TensorTypes.Bool or TensorTypes.Bytes => false,
            _ => true, // a datatype no input has: the model's check names it
        };
        if (!ok)
            throw InferenceException.BadInput($"{where} ({tensor.Datatype}): data element {element} is {Kind(data)}; {tensor.Datatype} takes {Takes(tensor.Datatype)}");
        element++;
    }

    private static bool Add<T>(Google.Protobuf.Collections.RepeatedField<T> field, T value)
    {
        field.Add(value);
        return true;
    }

    private static bool TryGetInt32Safe(this JsonElement element, out int value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out value);
    }

    private static bool TryGetInt64Safe(this JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    private static string Kind(JsonElement data) => data.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {data.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "an object",
    };

    private static string Takes(string datatype) => datatype switch
    {
        TensorTypes.Int32 => "32-bit integers",
        TensorTypes.Int64 => "64-bit integers",
        TensorTypes.Bool => "true or false",
        TensorTypes.Bytes => "strings",
        _ => "numbers",
    };

    private static Action<Utf8JsonWriter> WriteServerMetadata(ServerMetadataResponse metadata) => json =>
    {
        json.WriteStartObject();
        json.WriteString("name", metadata.Name);
        json.WriteString("version", metadata.Version);
        json.WriteStartArray("extensions");
        foreach (var extension in metadata.Extensions) json.WriteStringValue(extension);
        json.WriteEndArray();
        json.WriteEndObject();
    };

    private static Action<Utf8JsonWriter> WriteModelMetadata(ModelMetadataResponse metadata) => json =>
    {
        json.WriteStartObject();
        json.WriteString("name", metadata.Name);
        json.WriteStartArray("versions");
        foreach (var version in metadata.Versions) json.WriteStringValue(version);
        json.WriteEndArray();
        json.WriteString("platform", metadata.Platform);
        foreach (var (property, tensors) in new[] { ("inputs", metadata.Inputs), ("outputs", metadata.Outputs) })
        {
            json.WriteStartArray(property);
            foreach (var tensor in tensors)
            {
                json.WriteStartObject();
                json.WriteString("name", tensor.Name);
                json.WriteString("datatype", tensor.Datatype);
                json.WriteStartArray("shape");
                foreach (var dim in tensor.Shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        }
        json.WriteEndObject();
    };

    /// <summary>The response as JSON tensors; a NaN score (a rejected row) is written as null, which JSON has for it.</summary>
    private static void WriteInferResponse(Utf8JsonWriter json, ModelInferResponse response)
    {
        json.WriteStartObject();
        json.WriteString("model_name", response.ModelName);
        json.WriteString("model_version", response.ModelVersion);
        if (response.Id.Length > 0) json.WriteString("id", response.Id);
        json.WriteStartArray("outputs");
        foreach (var output in response.Outputs)
        {
            json.WriteStartObject();
            json.WriteString("name", output.Name);
            json.WriteString("datatype", output.Datatype);
            json.WriteStartArray("shape");
            foreach (var dim in output.Shape) json.WriteNumberValue(dim);
            json.WriteEndArray();
            json.WriteStartArray("data");
            var contents = output.Contents;
            foreach (var value in contents.Fp32Contents) // NaN: a rejected row
                if (float.IsFinite(value)) json.WriteNumberValue(value);
                else json.WriteNullValue();
            foreach (var value in contents.BoolContents) json.WriteBooleanValue(value);
            foreach (var value in contents.BytesContents) json.WriteStringValue(value.ToStringUtf8());
            json.WriteEndArray();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
