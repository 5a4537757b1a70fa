using SeekSharp.Server.Tests;

namespace SeekSharp.Server.ClientTests.Load;

/// <summary>A server 8 sequences wide with a modest context, for the load test alone.</summary>
public sealed class LoadServerFixture() : ServerFixture(o => o with { Parallel = 8, ContextLength = 512 });
