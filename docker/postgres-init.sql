-- One database per server: the hub and each city node own their data.
CREATE DATABASE xingyi_hub;
CREATE DATABASE xingyi_yuncheng;
CREATE DATABASE xingyi_linfen;
-- The hub's replicas of the cities (one database per replica).
CREATE DATABASE xingyi_replica_140800;
CREATE DATABASE xingyi_replica_141000;
