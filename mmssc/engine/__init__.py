"""Runner-side components (hooks, optimiser constructors, model wrappers)."""
