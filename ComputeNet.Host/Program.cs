Console.WriteLine("computenet");
