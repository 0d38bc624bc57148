"""The search engine: the index on disk and its snapshots, BM25 and dense retrieval, fusion, FAQ
matching, filters, and the query pipeline from a question to ranked, citable results."""
