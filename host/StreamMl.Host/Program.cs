namespace StreamMl.Host;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.WriteLine("streamml: commands arrive with the host issue");
        return args.Length == 0 ? 0 : 2;
    }
}
