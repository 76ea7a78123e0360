"""Bucket partitions: S3 object metadata, multipart uploads and the notification outbox."""
