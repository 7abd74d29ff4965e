// Snippets run with the console redirected and the working directory at the repository root, and the exercises
// train models on two shared cores: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
