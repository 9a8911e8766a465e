"""Remote management: signed commands, health reports, Home Assistant discovery."""
