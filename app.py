"""The qa page. Run with `make run`; everything it does lives in `qa.page`."""

from qa.page import main

main()
