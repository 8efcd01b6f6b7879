"""Running the product as a chain would: nginx in front of N Daphne workers and the periodic jobs, under
honcho (`make serve`, deploy/serve.py). Procfile and nginx.conf.template are the samples for a real host."""
