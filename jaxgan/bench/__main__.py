"""`python -m jaxgan.bench`."""

from jaxgan.bench import main

main()
