"""AWS's wire protocols beside the native API, on the same port (docs/aws.md).

Requests are recognised (:mod:`.recognize`), their signatures checked (:mod:`.sigv4`), parsed
and answered by model-driven codecs built on botocore's service models (:mod:`.protocols`), and
translated by one module per service into the typed operations the native API uses. No
semantics live in a codec.
"""

__all__: list[str] = []
