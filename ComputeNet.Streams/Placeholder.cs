namespace ComputeNet.Streams; internal static class Placeholder {}
