namespace ComputeNet.Actors; internal static class Placeholder {}
