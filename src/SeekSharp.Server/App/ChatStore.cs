using System.Globalization;
using Microsoft.Data.Sqlite;

namespace SeekSharp.Server.App;

/// <summary>A conversation's row: its title and the settings its answers are generated with (null: the model's defaults).</summary>
internal sealed record ConversationRow(string Id, string Title, string? Model, string? SystemPrompt, double? Temperature,
    double? TopP, int? MaxTokens, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A message's row. Status is <see cref="MessageStatus"/>: an answer is "streaming" while generated, then
/// "complete", "stopped" (the user stopped it, or the server ended mid-answer) or "failed".</summary>
internal sealed record MessageRow(string Id, string ConversationId, int Position, string Role, string Content, string? Reasoning,
    string Status, int? PromptTokens, int? CompletionTokens, double? ReasoningSeconds, double? TokensPerSecond, DateTimeOffset CreatedAt);

internal static class MessageStatus
{
    public const string Complete = "complete", Streaming = "streaming", Stopped = "stopped", Failed = "failed";
}

/// <summary>The settings a conversation may change; a null field is left as it is.</summary>
internal sealed record ConversationChanges(string? Title = null, string? Model = null, string? SystemPrompt = null,
    double? Temperature = null, double? TopP = null, int? MaxTokens = null, bool ClearSettings = false);

/// <summary>
/// The chat app's conversations in one SQLite file. The schema is versioned by <c>PRAGMA user_version</c> and migrated
/// forward on open, from the first version on, so a database written by any earlier release opens in a later one.
/// Every message is written when it is sent, and an answer when it starts and then as it streams (at most every
/// <see cref="FlushInterval"/>): a crash loses at most the part of one answer streamed since its last write, and the
/// answer is found marked stopped on the next start. Write-ahead logging lets the page read while an answer is written.
/// One connection, used under a lock: SQLite serialises writers anyway, and the app's traffic is one person's.
/// </summary>
internal sealed class ChatStore : IDisposable
{
    /// <summary>How often a streaming answer's text is written.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);

    // Migration i takes the schema from version i to i + 1. Append only: a released migration never changes.
    static readonly string[] Migrations =
    [
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            model TEXT,
            system_prompt TEXT,
            temperature REAL,
            top_p REAL,
            max_tokens INTEGER,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            reasoning TEXT,
            status TEXT NOT NULL CHECK (status IN ('complete', 'streaming', 'stopped', 'failed')),
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            reasoning_seconds REAL,
            tokens_per_second REAL,
            created_at TEXT NOT NULL,
            UNIQUE (conversation_id, position)
        );
        CREATE INDEX conversations_by_update ON conversations (updated_at DESC);
        """,
    ];

    /// <summary>The schema version this build writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    readonly SqliteConnection _db;
    readonly Lock _lock = new();

    public ChatStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        try
        {
            string? folder = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            _db.Open();
            Execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;");
            Migrate();
            // Answers still streaming when the last process ended (a crash, a kill) were cut off: keep what was written.
            Execute("UPDATE messages SET status = 'stopped' WHERE status = 'streaming'");
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            _db.Dispose();
            throw new InvalidDataException($"{Path}: cannot open the chat database: {e.Message}", e);
        }
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    void Migrate()
    {
        int version = Convert.ToInt32(Scalar("PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (version > Migrations.Length)
            throw new InvalidDataException($"{Path}: the chat database has schema version {version}, newer than this build's {Migrations.Length}; use a newer seek or another --db");
        for (int v = version; v < Migrations.Length; v++)
        {
            using var tx = _db.BeginTransaction();
            Execute(Migrations[v], tx);
            Execute($"PRAGMA user_version = {v + 1}", tx);
            tx.Commit();
        }
    }

    public List<ConversationRow> ListConversations(string? search)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            if (string.IsNullOrWhiteSpace(search))
            {
                cmd.CommandText = "SELECT * FROM conversations ORDER BY updated_at DESC, created_at DESC";
            }
            else
            {
                // A title or any message containing the text, case-insensitively for ASCII (SQLite's LIKE).
                cmd.CommandText = """
                    SELECT * FROM conversations c
                    WHERE c.title LIKE $q ESCAPE '\' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE $q ESCAPE '\')
                    ORDER BY updated_at DESC, created_at DESC
                    """;
                cmd.Parameters.AddWithValue("$q", "%" + EscapeLike(search.Trim()) + "%");
            }
            return ReadConversations(cmd);
        }
    }

    public ConversationRow? GetConversation(string id)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT * FROM conversations WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            return ReadConversations(cmd).FirstOrDefault();
        }
    }

    public ConversationRow CreateConversation(string title, ConversationChanges? settings = null)
    {
        var now = DateTimeOffset.UtcNow;
        var row = new ConversationRow(NewId(), title, settings?.Model, settings?.SystemPrompt, settings?.Temperature, settings?.TopP,
            settings?.MaxTokens, now, now);
        lock (_lock) InsertConversation(row, null);
        return row;
    }

    public ConversationRow? UpdateConversation(string id, ConversationChanges changes)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = changes.ClearSettings
                ? """
                  UPDATE conversations SET title = coalesce($title, title), model = $model, system_prompt = $system,
                      temperature = $temperature, top_p = $top_p, max_tokens = $max_tokens, updated_at = $now WHERE id = $id
                  """
                : """
                  UPDATE conversations SET title = coalesce($title, title), model = coalesce($model, model),
                      system_prompt = coalesce($system, system_prompt), temperature = coalesce($temperature, temperature),
                      top_p = coalesce($top_p, top_p), max_tokens = coalesce($max_tokens, max_tokens), updated_at = $now WHERE id = $id
                  """;
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$title", (object?)changes.Title ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$model", (object?)changes.Model ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$system", (object?)changes.SystemPrompt ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$temperature", (object?)changes.Temperature ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$top_p", (object?)changes.TopP ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$max_tokens", (object?)changes.MaxTokens ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$now", Stamp(DateTimeOffset.UtcNow));
            if (cmd.ExecuteNonQuery() == 0) return null;
        }
        return GetConversation(id);
    }

    public bool DeleteConversation(string id)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM conversations WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            return cmd.ExecuteNonQuery() > 0;
        }
    }

    public List<MessageRow> GetMessages(string conversationId)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT * FROM messages WHERE conversation_id = $id ORDER BY position";
            cmd.Parameters.AddWithValue("$id", conversationId);
            using var r = cmd.ExecuteReader();
            var list = new List<MessageRow>();
            while (r.Read()) list.Add(ReadMessage(r));
            return list;
        }
    }

    /// <summary>Appends a message after the conversation's last one and marks the conversation updated.</summary>
    public MessageRow AddMessage(string conversationId, string role, string content, string? reasoning, string status)
    {
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            using var next = _db.CreateCommand();
            next.Transaction = tx;
            next.CommandText = "SELECT coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = $id";
            next.Parameters.AddWithValue("$id", conversationId);
            int position = Convert.ToInt32(next.ExecuteScalar(), CultureInfo.InvariantCulture);
            var row = new MessageRow(NewId(), conversationId, position, role, content, reasoning, status, null, null, null, null, DateTimeOffset.UtcNow);
            InsertMessage(row, tx);
            Touch(conversationId, tx);
            tx.Commit();
            return row;
        }
    }

    /// <summary>Writes an answer's text, status and figures.</summary>
    public void UpdateMessage(string id, string content, string? reasoning, string status,
        int? promptTokens = null, int? completionTokens = null, double? reasoningSeconds = null, double? tokensPerSecond = null)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                UPDATE messages SET content = $content, reasoning = $reasoning, status = $status,
                    prompt_tokens = coalesce($prompt, prompt_tokens), completion_tokens = coalesce($completion, completion_tokens),
                    reasoning_seconds = coalesce($rs, reasoning_seconds), tokens_per_second = coalesce($tps, tokens_per_second)
                WHERE id = $id
                """;
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$content", content);
            cmd.Parameters.AddWithValue("$reasoning", (object?)reasoning ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$status", status);
            cmd.Parameters.AddWithValue("$prompt", (object?)promptTokens ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$completion", (object?)completionTokens ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$rs", (object?)reasoningSeconds ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$tps", (object?)tokensPerSecond ?? DBNull.Value);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Replaces a message's text (an edited question).</summary>
    public void SetContent(string id, string content)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "UPDATE messages SET content = $content WHERE id = $id";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$content", content);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes the messages at <paramref name="position"/> and after (regenerate, edit and resend).</summary>
    public void DeleteMessagesFrom(string conversationId, int position)
    {
        lock (_lock)
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM messages WHERE conversation_id = $id AND position >= $p";
            cmd.Parameters.AddWithValue("$id", conversationId);
            cmd.Parameters.AddWithValue("$p", position);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Stores an imported conversation and its messages in one transaction.</summary>
    public ConversationRow Import(string title, ConversationChanges settings, IReadOnlyList<(string Role, string Content, string? Reasoning)> messages)
    {
        var now = DateTimeOffset.UtcNow;
        var conversation = new ConversationRow(NewId(), title, settings.Model, settings.SystemPrompt, settings.Temperature, settings.TopP,
            settings.MaxTokens, now, now);
        lock (_lock)
        {
            using var tx = _db.BeginTransaction();
            InsertConversation(conversation, tx);
            for (int i = 0; i < messages.Count; i++)
            {
                var (role, content, reasoning) = messages[i];
                InsertMessage(new MessageRow(NewId(), conversation.Id, i, role, content, reasoning, MessageStatus.Complete,
                    null, null, null, null, now), tx);
            }
            tx.Commit();
        }
        return conversation;
    }

    void InsertConversation(ConversationRow row, SqliteTransaction? tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO conversations (id, title, model, system_prompt, temperature, top_p, max_tokens, created_at, updated_at)
            VALUES ($id, $title, $model, $system, $temperature, $top_p, $max_tokens, $created, $updated)
            """;
        cmd.Parameters.AddWithValue("$id", row.Id);
        cmd.Parameters.AddWithValue("$title", row.Title);
        cmd.Parameters.AddWithValue("$model", (object?)row.Model ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$system", (object?)row.SystemPrompt ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$temperature", (object?)row.Temperature ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$top_p", (object?)row.TopP ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$max_tokens", (object?)row.MaxTokens ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$created", Stamp(row.CreatedAt));
        cmd.Parameters.AddWithValue("$updated", Stamp(row.UpdatedAt));
        cmd.ExecuteNonQuery();
    }

    void InsertMessage(MessageRow row, SqliteTransaction? tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO messages (id, conversation_id, position, role, content, reasoning, status, created_at)
            VALUES ($id, $conversation, $position, $role, $content, $reasoning, $status, $created)
            """;
        cmd.Parameters.AddWithValue("$id", row.Id);
        cmd.Parameters.AddWithValue("$conversation", row.ConversationId);
        cmd.Parameters.AddWithValue("$position", row.Position);
        cmd.Parameters.AddWithValue("$role", row.Role);
        cmd.Parameters.AddWithValue("$content", row.Content);
        cmd.Parameters.AddWithValue("$reasoning", (object?)row.Reasoning ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$status", row.Status);
        cmd.Parameters.AddWithValue("$created", Stamp(row.CreatedAt));
        cmd.ExecuteNonQuery();
    }

    void Touch(string conversationId, SqliteTransaction tx)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "UPDATE conversations SET updated_at = $now WHERE id = $id";
        cmd.Parameters.AddWithValue("$id", conversationId);
        cmd.Parameters.AddWithValue("$now", Stamp(DateTimeOffset.UtcNow));
        cmd.ExecuteNonQuery();
    }

    static List<ConversationRow> ReadConversations(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var list = new List<ConversationRow>();
        while (r.Read())
        {
            list.Add(new ConversationRow(r.GetString(r.GetOrdinal("id")), r.GetString(r.GetOrdinal("title")),
                NullableString(r, "model"), NullableString(r, "system_prompt"), NullableDouble(r, "temperature"), NullableDouble(r, "top_p"),
                NullableInt(r, "max_tokens"), ParseStamp(r.GetString(r.GetOrdinal("created_at"))), ParseStamp(r.GetString(r.GetOrdinal("updated_at")))));
        }
        return list;
    }

    static MessageRow ReadMessage(SqliteDataReader r) => new(
        r.GetString(r.GetOrdinal("id")), r.GetString(r.GetOrdinal("conversation_id")), r.GetInt32(r.GetOrdinal("position")),
        r.GetString(r.GetOrdinal("role")), r.GetString(r.GetOrdinal("content")), NullableString(r, "reasoning"), r.GetString(r.GetOrdinal("status")),
        NullableInt(r, "prompt_tokens"), NullableInt(r, "completion_tokens"), NullableDouble(r, "reasoning_seconds"),
        NullableDouble(r, "tokens_per_second"), ParseStamp(r.GetString(r.GetOrdinal("created_at"))));

    static string? NullableString(SqliteDataReader r, string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetString(r.GetOrdinal(column));
    static double? NullableDouble(SqliteDataReader r, string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetDouble(r.GetOrdinal(column));
    static int? NullableInt(SqliteDataReader r, string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetInt32(r.GetOrdinal(column));

    // ISO 8601 with a fixed width, so that text order is time order.
    static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
    static DateTimeOffset ParseStamp(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    static string EscapeLike(string s) => s.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    static string NewId() => Guid.NewGuid().ToString("N")[..16];

    object? Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    void Execute(string sql, SqliteTransaction? tx = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        lock (_lock) _db.Dispose();
    }
}
