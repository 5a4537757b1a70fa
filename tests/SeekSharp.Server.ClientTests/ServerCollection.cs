using SeekSharp.Server.Tests;

// Every test here talks to a server in this process, and the load test measures this process's memory: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace SeekSharp.Server.ClientTests;

/// <summary>One <c>seek serve</c> (<see cref="ServerFixture"/>: parallel 4, context 1024) shared by the client tests.</summary>
[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "seek serve";
}
