import { proxyError } from '../../errors.ts';
import type { RoutingState, RoutingStore, Service, ServiceCatalog } from '../store.ts';
import type { SqliteDatabase } from './driver.ts';
import { limitsReader } from './limits.ts';
import type { RoutingChange } from './routing-version.ts';
import {
  BUY_COLUMNS,
  type BuyRow,
  type CatalogRow,
  catalogsOf,
  type ServiceRow,
  toBuy,
  toService,
} from './rows.ts';

/** Services, administrators and bindings in SQLite. */
export function sqliteRouting(db: SqliteDatabase, routingChange: RoutingChange): RoutingStore {
  const sql = {
    version: db.prepareValue('SELECT version FROM routing_version WHERE id = 1'),
    serviceExists: db.prepareValue('SELECT 1 FROM services WHERE public_path = ?'),
    insertService: db.prepare(
      'INSERT INTO services (url, app_id, methods, is_context_broker, adapter, public_path) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    updateService: db.prepare(
      'UPDATE services SET url = ?, app_id = ?, methods = ?, is_context_broker = ?, adapter = ? WHERE public_path = ?',
    ),
    getService: db.prepare<[string], ServiceRow>('SELECT * FROM services WHERE public_path = ?'),
    listServices: db.prepare<[], ServiceRow>('SELECT * FROM services ORDER BY public_path'),
    deleteService: db.prepare('DELETE FROM services WHERE public_path = ?'),
    countServiceBuys: db.prepareValue('SELECT count(*) FROM buys WHERE public_path = ?'),
    adminExists: db.prepareValue('SELECT 1 FROM admins WHERE id = ?'),
    insertAdmin: db.prepare('INSERT INTO admins (id) VALUES (?)'),
    deleteAdmin: db.prepare('DELETE FROM admins WHERE id = ?'),
    listAdmins: db.prepareValue('SELECT id FROM admins ORDER BY id'),
    bind: db.prepare('INSERT OR IGNORE INTO admin_bindings (admin_id, public_path) VALUES (?, ?)'),
    unbind: db.prepare('DELETE FROM admin_bindings WHERE admin_id = ? AND public_path = ?'),
    serviceAdmins: db.prepareValue(
      'SELECT admin_id FROM admin_bindings WHERE public_path = ? ORDER BY admin_id',
    ),
    allBindings: db.prepare<[], { adminId: string; publicPath: string }>(
      'SELECT admin_id AS adminId, public_path AS publicPath FROM admin_bindings ORDER BY admin_id, public_path',
    ),
    activeBuys: db.prepare<[], BuyRow>(
      `SELECT ${BUY_COLUMNS} FROM buys WHERE revoked = 0 ORDER BY seq`,
    ),
    catalogs: db.prepare<[], CatalogRow>(
      'SELECT kind, id, public_path FROM service_catalog ORDER BY public_path, seq',
    ),
    catalogOf: db.prepare<[string], CatalogRow>(
      'SELECT kind, id, public_path FROM service_catalog WHERE public_path = ? ORDER BY seq',
    ),
    catalogOwner: db.prepareValue<[string, string, string], string>(
      'SELECT public_path FROM service_catalog WHERE kind = ? AND id = ? AND public_path != ?',
    ),
    clearCatalog: db.prepare('DELETE FROM service_catalog WHERE public_path = ?'),
    addCatalogId: db.prepare(
      'INSERT OR IGNORE INTO service_catalog (kind, id, public_path, seq) VALUES (?, ?, ?, ?)',
    ),
  };

  const servicesWithCatalogs = () => {
    const catalogs = catalogsOf(sql.catalogs.all());
    return sql.listServices.all().map((row) => toService(row, catalogs.get(row.public_path)));
  };
  const replaceCatalog = (publicPath: string, catalog: ServiceCatalog) => {
    const ids = [
      ...catalog.offerings.map((id) => ['offering', id] as const),
      ...catalog.productSpecs.map((id) => ['product specification', id] as const),
    ];
    for (const [kind, id] of ids) {
      const owner = sql.catalogOwner.get(kind, id, publicPath);
      if (owner !== undefined) throw proxyError('CATALOG_ID_TAKEN', kind, id, owner);
    }
    sql.clearCatalog.run(publicPath);
    for (const [seq, [kind, id]] of ids.entries()) sql.addCatalogId.run(kind, id, publicPath, seq);
  };

  const requireService = (publicPath: string) => {
    if (!sql.serviceExists.get(publicPath)) throw proxyError('SERVICE_NOT_FOUND', publicPath);
  };
  const requireAdmin = (userId: string) => {
    if (!sql.adminExists.get(userId)) throw proxyError('ADMIN_NOT_FOUND', userId);
  };

  const readLimits = limitsReader(db);
  const readRoutingState = db.transaction(
    (): RoutingState => ({
      services: servicesWithCatalogs(),
      bindings: sql.allBindings.all(),
      buys: sql.activeBuys.all().map(toBuy),
      limits: readLimits(),
    }),
  );

  return {
    addService: routingChange((service: Service, options?: { replace?: boolean }) => {
      const row = [
        service.url,
        service.appId,
        service.methods.join(','),
        +service.isContextBroker,
        +(service.adapter ?? false),
      ];
      if (!sql.serviceExists.get(service.publicPath)) {
        sql.insertService.run(...row, service.publicPath);
      } else if (options?.replace) {
        sql.updateService.run(...row, service.publicPath);
      } else {
        throw proxyError('SERVICE_EXISTS', service.publicPath);
      }
      if (service.catalog) replaceCatalog(service.publicPath, service.catalog);
    }),
    setServiceCatalog: routingChange((publicPath: string, catalog: ServiceCatalog) => {
      requireService(publicPath);
      replaceCatalog(publicPath, catalog);
    }),
    getService: async (publicPath) => {
      const row = sql.getService.get(publicPath);
      return row && toService(row, catalogsOf(sql.catalogOf.all(publicPath)).get(publicPath));
    },
    listServices: async () => servicesWithCatalogs(),
    deleteService: routingChange((publicPath: string) => {
      requireService(publicPath);
      const buys = sql.countServiceBuys.get(publicPath) as number;
      if (buys > 0) throw proxyError('SERVICE_HAS_BUYS', publicPath, buys);
      sql.deleteService.run(publicPath);
    }),

    addAdmin: routingChange((userId: string) => {
      if (sql.adminExists.get(userId)) throw proxyError('ADMIN_EXISTS', userId);
      sql.insertAdmin.run(userId);
    }),
    deleteAdmin: routingChange((userId: string) => {
      requireAdmin(userId);
      sql.deleteAdmin.run(userId);
    }),
    listAdmins: async () => sql.listAdmins.all() as string[],
    bindAdmin: routingChange((userId: string, publicPath: string) => {
      requireAdmin(userId);
      requireService(publicPath);
      sql.bind.run(userId, publicPath);
    }),
    unbindAdmin: routingChange((userId: string, publicPath: string) => {
      if (sql.unbind.run(userId, publicPath).changes === 0) {
        throw proxyError('ADMIN_NOT_BOUND', userId, publicPath);
      }
    }),
    getAdmins: async (publicPath) => sql.serviceAdmins.all(publicPath) as string[],

    loadRoutingState: async () => readRoutingState.deferred(),
    routingVersion: async () => sql.version.get() as number,
  };
}
