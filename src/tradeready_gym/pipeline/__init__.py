"""The pipeline: honest evaluation, training, walk-forward (see docs/pipeline.md)."""
