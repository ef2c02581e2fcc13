"""The HTTP contract of every paybench service: ``openapi.yaml`` as package data
(``contract.openapi``) and its Postman collection (``contract.postman``)."""
