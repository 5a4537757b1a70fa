namespace SeekSharp.Tokenization;

/// <summary>GGUF <c>tokenizer.ggml.token_type</c> values (gguf-py <c>TokenType</c>).</summary>
internal enum GgufTokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>Per-token behaviour flags; the values follow llama.cpp's <c>llama_token_attr</c>.</summary>
[Flags]
internal enum TokenAttributes
{
    Undefined = 0,
    Unknown = 1 << 0,
    Unused = 1 << 1,
    Normal = 1 << 2,
    Control = 1 << 3,
    UserDefined = 1 << 4,
    Byte = 1 << 5,
    Normalized = 1 << 6,
    LStrip = 1 << 7,
    RStrip = 1 << 8,
    SingleWord = 1 << 9,
}

internal static class TokenAttributesExtensions
{
    public static TokenAttributes FromGgufType(int type) => (GgufTokenType)type switch
    {
        GgufTokenType.Normal => TokenAttributes.Normal,
        GgufTokenType.Unknown => TokenAttributes.Unknown,
        GgufTokenType.Control => TokenAttributes.Control,
        GgufTokenType.UserDefined => TokenAttributes.UserDefined,
        GgufTokenType.Unused => TokenAttributes.Unused,
        GgufTokenType.Byte => TokenAttributes.Byte,
        _ => TokenAttributes.Undefined,
    };
}
