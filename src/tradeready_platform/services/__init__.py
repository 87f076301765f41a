"""Service layer of the platform server: the routers are thin wrappers over these classes."""
