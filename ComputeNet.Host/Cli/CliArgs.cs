namespace ComputeNet.Host.Cli;

/// <summary>A sub-command's arguments: positional values and --name value options.</summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    public CliArgs(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].StartsWith("--", StringComparison.Ordinal))
            {
                var name = list[i][2..];
                var eq = name.IndexOf('=');
                if (eq >= 0) _options[name[..eq]] = name[(eq + 1)..];
                else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) _options[name] = list[++i];
                else _options[name] = null;
            }
            else
            {
                Positional.Add(list[i]);
            }
        }
    }

    public List<string> Positional { get; } = [];

    public string? Option(string name) => _options.GetValueOrDefault(name);

    public bool Flag(string name) => _options.ContainsKey(name);

    public int IntOption(string name, int fallback) =>
        Option(name) is { } text ? int.TryParse(text, out var value) ? value : throw new CliException($"--{name} must be a whole number, got '{text}'") : fallback;

    public string Required(int position, string what) =>
        Positional.Count > position ? Positional[position] : throw new CliException($"missing {what}");
}

/// <summary>A user error on the command line: printed without a stack trace, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);
