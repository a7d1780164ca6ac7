"""Reports: monthly statistics, the conversion audit for planners, satisfaction callbacks."""
