namespace SeekSharp.Server.Hosting;

/// <summary>
/// A request that fails with an HTTP status and a message for the client. The error middleware writes it in the
/// calling API's shape: OpenAI's envelope <c>{"error":{"message","type","param","code"}}</c>, or Ollama's <c>{"error":"…"}</c>.
/// </summary>
public sealed class ApiException(int status, string message, string type, string? param = null, string? code = null) : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;
    /// <summary>OpenAI error type: invalid_request_error, authentication_error, rate_limit_error, server_error...</summary>
    public string Type { get; } = type;
    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; } = param;
    /// <summary>A machine-readable code (model_not_found, invalid_api_key...), or null.</summary>
    public string? Code { get; } = code;
    /// <summary>Seconds after which a retry may succeed (Retry-After), for 429 and 503.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>400: the request is malformed or a value is out of range.</summary>
    public static ApiException BadRequest(string message, string? param = null, string? code = null) =>
        new(400, message, "invalid_request_error", param, code);

    /// <summary>404: no served model has this name.</summary>
    public static ApiException ModelNotFound(string name) =>
        new(404, $"The model '{name}' does not exist or you do not have access to it.", "invalid_request_error", "model", "model_not_found");
}
