"""Tests of the AWS wire protocols."""
