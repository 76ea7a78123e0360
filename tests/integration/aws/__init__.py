"""AWS clients, unchanged, against a live raybus: boto3 and the aws CLI."""
