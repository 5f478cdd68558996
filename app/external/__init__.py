"""External documents (外来文件): standards, regulations and customer specifications."""
