using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using StreamMl.Engine;
using StreamMl.Host.Hosting;
using StreamMl.Host.Pipelines;
using StreamMl.Host.Specs;
using RpcStatus = Google.Rpc.Status;

namespace StreamMl.Host.Grpc;

/// <summary>Structured error details in the <c>grpc-status-details-bin</c> trailer (the <c>google.rpc.Status</c> model
/// that grpc-status-details readers in every language parse): an <c>ErrorInfo</c> with a reason code, domain
/// <c>streamml</c> and metadata (location, row, column, limit, setting), and for INVALID_ARGUMENT a <c>BadRequest</c>
/// with one field violation per problem (a spec's line:column, a payload's row and column).</summary>
internal static class ErrorDetails
{
    /// <summary>The ErrorInfo domain.</summary>
    public const string Domain = "streamml";

    // The details travel in a trailer next to the message: keep them well under the few kilobytes clients accept.
    private const int MaxViolations = 20;
    private const int MaxDescription = 300;

    /// <summary>Reason codes of <c>ErrorInfo.reason</c>.</summary>
    public static class Reasons
    {
        /// <summary>A pipeline spec has errors (one violation per error, field <c>spec:LINE:COLUMN</c>).</summary>
        public const string InvalidSpec = "INVALID_SPEC";
        /// <summary>A value in a row does not fit its column (field <c>rows[ROW].COLUMN</c>).</summary>
        public const string InvalidValue = "INVALID_VALUE";
        /// <summary>A column is unknown, missing or repeated (field <c>columns.COLUMN</c>).</summary>
        public const string InvalidColumn = "INVALID_COLUMN";
        /// <summary>A row or a payload cannot be read as a whole (wrong number of values, unreadable Arrow bytes, no rows).</summary>
        public const string InvalidPayload = "INVALID_PAYLOAD";
        /// <summary>Columns or types do not match what a stage needs.</summary>
        public const string SchemaMismatch = "SCHEMA_MISMATCH";
        /// <summary>The request bytes are not the request message.</summary>
        public const string InvalidProtobuf = "INVALID_PROTOBUF";
        /// <summary>A pipeline name that cannot be one.</summary>
        public const string InvalidPipelineName = "INVALID_PIPELINE_NAME";
        /// <summary>A request field out of range or malformed (the field violation names it).</summary>
        public const string InvalidField = "INVALID_FIELD";
        /// <summary>A message larger than the configured size limit.</summary>
        public const string MessageTooLarge = "MESSAGE_TOO_LARGE";
        /// <summary>More concurrent streaming calls on one connection than the configured limit allows.</summary>
        public const string TooManyStreams = "TOO_MANY_STREAMS";
        /// <summary>A spec whose rings do not fit the memory budget.</summary>
        public const string MemoryBudget = "MEMORY_BUDGET";
    }

    /// <summary>INVALID_ARGUMENT for one request field, with its details.</summary>
    public static RpcException InvalidField(string field, string message) =>
        Build(StatusCode.InvalidArgument, message, Reasons.InvalidField, new() { ["field"] = field }, [(field, message)]).ToRpcException();

    /// <summary>A status with an ErrorInfo (and, when given, BadRequest field violations).</summary>
    public static RpcStatus Build(StatusCode code, string message, string reason, Dictionary<string, string>? metadata = null,
        IEnumerable<(string Field, string Description)>? violations = null)
    {
        var status = new RpcStatus { Code = (int)code, Message = SafeText.Detail(message) };
        var info = new ErrorInfo { Reason = reason, Domain = Domain };
        if (metadata is not null)
            foreach (var (key, value) in metadata) info.Metadata[key] = SafeText.Quote(value, MaxDescription).Trim('\'');
        status.Details.Add(Any.Pack(info));
        if (violations is not null)
        {
            var request = new BadRequest();
            foreach (var (field, description) in violations.Take(MaxViolations))
                request.FieldViolations.Add(new BadRequest.Types.FieldViolation
                {
                    Field = SafeText.Quote(field, MaxDescription).Trim('\''),
                    Description = SafeText.Quote(description, MaxDescription).Trim('\''),
                    Reason = reason,
                });
            if (request.FieldViolations.Count > 0) status.Details.Add(Any.Pack(request));
        }
        return status;
    }

    /// <summary>The details for an exception already mapped to <paramref name="status"/>: INVALID_ARGUMENT gets an
    /// ErrorInfo and field violations, RESOURCE_EXHAUSTED an ErrorInfo; other codes none (null).</summary>
    public static RpcStatus? For(Exception ex, global::Grpc.Core.Status status)
    {
        if (status.StatusCode == StatusCode.ResourceExhausted && ex is MemoryBudgetException)
            return Build(status.StatusCode, status.Detail, Reasons.MemoryBudget);
        if (status.StatusCode != StatusCode.InvalidArgument) return null;
        return ex switch
        {
            SpecException spec => Build(status.StatusCode, status.Detail, Reasons.InvalidSpec, null,
                spec.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).Select(e => ($"spec:{e.Line}:{e.Column}", e.Message))),
            BadInputException bad => ForBadInput(bad, status.Detail),
            SchemaMismatchException => Build(status.StatusCode, status.Detail, Reasons.SchemaMismatch),
            InvalidPipelineNameException => Build(status.StatusCode, status.Detail, Reasons.InvalidPipelineName, null, [("pipeline", status.Detail)]),
            Google.Protobuf.InvalidProtocolBufferException => Build(status.StatusCode, status.Detail, Reasons.InvalidProtobuf),
            _ => Build(status.StatusCode, status.Detail, Reasons.InvalidField),
        };
    }

    private static RpcStatus ForBadInput(BadInputException bad, string message)
    {
        var metadata = new Dictionary<string, string> { ["location"] = bad.Location };
        if (bad.Row is { } row) metadata["row"] = row.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (bad.Column is { } column) metadata["column"] = column;
        var (reason, field) = (bad.Row, bad.Column) switch
        {
            ({ } r, { } c) => (Reasons.InvalidValue, $"rows[{r}].{c}"),
            ({ } r, null) => (Reasons.InvalidPayload, $"rows[{r}]"),
            (null, { } c) => (Reasons.InvalidColumn, $"columns.{c}"),
            _ => (Reasons.InvalidPayload, "payload"),
        };
        return Build(StatusCode.InvalidArgument, message, reason, metadata, [(field, message)]);
    }
}
