"""TFRecord shards: the example spec, shard planning (pure), writing, the manifest, and verification."""
