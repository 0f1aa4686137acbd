"""What every layer uses: the one settings object and the errors that carry a one-line message
for the user."""
