// Placeholder until the HNSW index lands; removed by its first file.
