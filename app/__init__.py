"""The Streamlit app: canvas preprocessing, registry and inference clients, pages."""
