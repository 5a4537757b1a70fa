using System.CommandLine;
using SeekSharp.Store;

namespace SeekSharp.Cli.Commands;

/// <summary><c>seek rm NAME...</c>: deletes pulled models (and any partial download of them).</summary>
internal static class RemoveCommand
{
    public static Command Create()
    {
        var names = new Argument<string[]>("name") { Description = "Models to delete, as seek list names them", Arity = ArgumentArity.OneOrMore };
        var modelsDir = Common.ModelsDirOption();
        var command = new Command("rm", "Delete models from the model store") { names, modelsDir };
        command.SetAction(r => Common.Guard(() =>
        {
            var store = Common.OpenStore(r, modelsDir);
            // Every name is checked before anything is deleted: a typo in the second name must not leave the first half done.
            var parsed = r.GetValue(names)!.Select(ModelName.Parse).ToList();
            foreach (var name in parsed)
                if (!Directory.Exists(store.FolderFor(name)))
                    throw new ArgumentException($"model '{name.Canonical}' is not in the store ({store.Root}); see seek list");
            foreach (var name in parsed)
            {
                store.Remove(name);
                Console.Error.WriteLine($"deleted '{name.Canonical}'");
            }
            return 0;
        }));
        return command;
    }
}
