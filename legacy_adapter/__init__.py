"""paybench package."""
