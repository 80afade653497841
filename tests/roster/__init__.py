"""Tests of the OneRoster roster import."""
