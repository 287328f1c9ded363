// Helpers over the pricing model returned by the SDK. The types are derived
// from @flowglad/react's own hooks so they always match the installed version.
import { humanReadableCurrencyAmount, type usePricingModel } from '@flowglad/react'

export type PricingModel = NonNullable<ReturnType<typeof usePricingModel>>
export type Product = PricingModel['products'][number]
export type Price = Product['prices'][number]

/** The product a subscription's price belongs to (plan names live on products). */
export function findProductByPriceId(
  pricingModel: PricingModel | null | undefined,
  priceId: string | null | undefined,
): Product | null {
  if (!pricingModel || !priceId) return null
  for (const product of pricingModel.products ?? []) {
    if ((product.prices ?? []).some((price) => price.id === priceId)) return product
  }
  return null
}

export interface PriceRow {
  product: Product
  price: Price & { slug: string }
}

/**
 * Active prices of one type with a slug (checkout is started by slug), cheapest
 * first. Prices without a slug cannot be bought from this page.
 */
export function pricesOfType(
  pricingModel: PricingModel | null | undefined,
  type: Price['type'],
): PriceRow[] {
  const rows: PriceRow[] = []
  for (const product of pricingModel?.products ?? []) {
    if (product.active === false) continue
    for (const price of product.prices ?? []) {
      if (price.type !== type || price.active === false || !price.slug) continue
      rows.push({ product, price: price as Price & { slug: string } })
    }
  }
  return rows.sort((a, b) => a.price.unitPrice - b.price.unitPrice)
}

/** "$20.00 / month", "Free", "$9.00 one-time". */
export function formatPrice(price: Price): string {
  if (price.unitPrice === 0) return 'Free'
  const amount = humanReadableCurrencyAmount(price.currency, price.unitPrice)
  if (price.type === 'single_payment') return `${amount} one-time`
  const count = price.intervalCount ?? 1
  const unit = price.intervalUnit ?? 'month'
  return count > 1 ? `${amount} / ${count} ${unit}s` : `${amount} / ${unit}`
}
