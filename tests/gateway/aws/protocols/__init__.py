"""Tests of the model-driven AWS wire codecs, with botocore's own client-side machinery as the
peer (its serializers write the requests, its parsers read the answers)."""
