"""Tests of the shadow package."""
