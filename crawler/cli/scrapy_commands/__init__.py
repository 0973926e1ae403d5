"""Scrapy's own commands where ours must behave alike (COMMANDS_MODULE): `scrapy crawl SOURCE`
runs a source like `crawler crawl SOURCE`."""
