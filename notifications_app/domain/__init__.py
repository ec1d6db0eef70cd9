"""The notifications' domain: webhook endpoints and deliveries, standard library only."""
