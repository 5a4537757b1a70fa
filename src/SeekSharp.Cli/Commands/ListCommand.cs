using System.CommandLine;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek list</c>: the pulled models, as <c>ollama list</c> shows them.</summary>
internal static class ListCommand
{
    public static Command Create()
    {
        var json = Common.JsonOption();
        var modelsDir = Common.ModelsDirOption();
        var command = new Command("list", "List the models in the model store: name, size, format and when they were pulled") { json, modelsDir };
        command.Aliases.Add("ls");
        command.SetAction(r => Common.Guard(() =>
        {
            var store = Common.OpenStore(r, modelsDir);
            var models = store.List();
            if (r.GetValue(json))
            {
                Common.WriteJson(models.Select(m => new
                {
                    name = m.Manifest.Name, size = m.Manifest.Size, format = m.Manifest.Format, modified = m.Manifest.Pulled, path = m.ModelPath,
                }));
                return 0;
            }
            if (models.Count == 0)
            {
                Console.Error.WriteLine($"seek: no models in {store.Root}; download one with: seek pull deepseek-r1:1.5b");
                return 0;
            }
            var now = DateTimeOffset.UtcNow;
            var rows = new List<string[]> { new[] { "NAME", "SIZE", "FORMAT", "MODIFIED" } };
            rows.AddRange(models.Select(m => new[] { m.Manifest.Name, Common.FormatSize(m.Manifest.Size), m.Manifest.Format, Common.Ago(m.Manifest.Pulled, now) }));
            Common.WriteColumns(Console.Out, rows);
            return 0;
        }));
        return command;
    }
}
