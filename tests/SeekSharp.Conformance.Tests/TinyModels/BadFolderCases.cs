using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using SeekSharp.Safetensors;

namespace SeekSharp.Conformance.Tests.TinyModels;

/// <summary>Damages a folder written by <see cref="TinyHfFolder"/> in one named way, for the bad-input tests.</summary>
internal static class BadFolderCases
{
    /// <summary>Applies <paramref name="problem"/> to <paramref name="folder"/> and returns what the error must name (usually the tensor).</summary>
    public static string Break(string problem, string folder)
    {
        string config = Path.Combine(folder, "config.json");
        JsonObject Config() => JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        void SaveConfig(JsonObject c) => File.WriteAllText(config, c.ToJsonString());
        switch (problem)
        {
            case "truncated shard":
            {
                string shard = Path.Combine(folder, "model-00002-of-00003.safetensors");
                string last;
                using (var f = SafetensorsFile.Open(shard)) last = f.Tensors.MaxBy(t => t.End)!.Name;
                var bytes = File.ReadAllBytes(shard);
                File.WriteAllBytes(shard, bytes[..^10]);
                return last;
            }
            case "missing tensor":
            {
                // One layer more than the weights hold: its first tensor is missing.
                var c = Config();
                c["num_hidden_layers"] = c["num_hidden_layers"]!.GetValue<int>() + 1;
                SaveConfig(c);
                return $"model.layers.{c["num_hidden_layers"]!.GetValue<int>() - 1}.input_layernorm.weight";
            }
            case "shape mismatch":
            {
                var c = Config();
                c["intermediate_size"] = c["intermediate_size"]!.GetValue<int>() + 32;
                SaveConfig(c);
                return "model.layers.0.mlp.gate_proj.weight";
            }
            case "shard outside":
            {
                string index = Path.Combine(folder, SafetensorsCheckpoint.IndexFileName);
                var root = JsonNode.Parse(File.ReadAllText(index))!.AsObject();
                var map = root["weight_map"]!.AsObject();
                string tensor = map.First().Key;
                map[tensor] = "../" + map[tensor]!.GetValue<string>();
                File.WriteAllText(index, root.ToJsonString());
                return tensor;
            }
            case "overlapping offsets":
            {
                // The second tensor's data is moved to start inside the first one's, its length unchanged.
                string path = Path.Combine(folder, "model.safetensors");
                var bytes = File.ReadAllBytes(path);
                int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, n))!.AsObject();
                var entries = header.Where(kv => kv.Key != "__metadata__").ToArray();
                var first = entries[0].Value!["data_offsets"]!.AsArray();
                var second = entries[1].Value!["data_offsets"]!.AsArray();
                long begin = first[0]!.GetValue<long>() + 4, length = second[1]!.GetValue<long>() - second[0]!.GetValue<long>();
                entries[1].Value!["data_offsets"] = new JsonArray(begin, begin + length);
                var json = Encoding.UTF8.GetBytes(header.ToJsonString());
                var rebuilt = new byte[8 + json.Length + (bytes.Length - 8 - n)];
                BinaryPrimitives.WriteUInt64LittleEndian(rebuilt, (ulong)json.Length);
                json.CopyTo(rebuilt, 8);
                Array.Copy(bytes, 8 + n, rebuilt, 8 + json.Length, bytes.Length - 8 - n);
                File.WriteAllBytes(path, rebuilt);
                return entries[1].Key;
            }
            case "unknown architecture":
            {
                var c = Config();
                c["model_type"] = "gpt_neox";
                SaveConfig(c);
                return "model_type 'gpt_neox'";
            }
            case "missing key":
            {
                var c = Config();
                c.Remove("hidden_size");
                SaveConfig(c);
                return "'hidden_size'";
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(problem), problem, null);
        }
    }
}
