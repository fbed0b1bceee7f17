"""USD scenes (usd-core's ``pxr``): reading scenes into scene documents."""
